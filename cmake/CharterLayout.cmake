# Lays out a libcharter built by cargo the way it is installed. Run with
# `cmake -P` after each cargo build:
#
#   cmake -DBUILT=<cargo profile dir> -DOUT=<dir> -DREAL=<file name>
#         -DSONAME=<soname> -DSTRIP=<ON|OFF> -DOBJCOPY=<objcopy> -P CharterLayout.cmake
#
# Produces in OUT: REAL (the shared library), the soname link SONAME -> REAL,
# the development link libcharter.so -> SONAME and libcharter.a. With STRIP,
# REAL and libcharter.a carry no debug sections: those of the shared library
# go to REAL.debug, which REAL names in its .gnu_debuglink section, so gdb
# finds it next to the library or in a .debug/ directory beside it.
#
# Invariant: a file in OUT is rewritten only when cargo's file is newer, so
# an unchanged library does not relink what depends on it.
foreach(var BUILT OUT REAL SONAME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CharterLayout.cmake: ${var} is not set")
  endif()
endforeach()

file(MAKE_DIRECTORY "${OUT}")

# run(<command...>): runs a command, failing the build on a non-zero status.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGV}")
  endif()
endfunction()

set(so_in "${BUILT}/libcharter.so")
set(so_out "${OUT}/${REAL}")
if(NOT EXISTS "${so_out}" OR "${so_in}" IS_NEWER_THAN "${so_out}")
  if(STRIP)
    run(${OBJCOPY} --only-keep-debug "${so_in}" "${so_out}.debug")
    # --add-gnu-debuglink records the debug file's name and CRC, so it must
    # run where that file is; the name alone is stored.
    run(${OBJCOPY} --strip-debug "--add-gnu-debuglink=${REAL}.debug" "${so_in}" "${so_out}"
        WORKING_DIRECTORY "${OUT}")
  else()
    run(${CMAKE_COMMAND} -E copy "${so_in}" "${so_out}")
  endif()
endif()

set(a_in "${BUILT}/libcharter.a")
set(a_out "${OUT}/libcharter.a")
if(NOT EXISTS "${a_out}" OR "${a_in}" IS_NEWER_THAN "${a_out}")
  if(STRIP)
    run(${OBJCOPY} --strip-debug "${a_in}" "${a_out}")
  else()
    run(${CMAKE_COMMAND} -E copy "${a_in}" "${a_out}")
  endif()
endif()

file(CREATE_LINK "${REAL}" "${OUT}/${SONAME}" SYMBOLIC)
file(CREATE_LINK "${SONAME}" "${OUT}/libcharter.so" SYMBOLIC)
