module charter.dev/charter

go 1.25
