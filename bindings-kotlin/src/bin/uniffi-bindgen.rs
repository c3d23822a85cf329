//! uniffi-bindgen, pinned to the crate's uniffi version: the Maven build runs
//! it in library mode on the freshly built cdylib.
fn main() {
    uniffi::uniffi_bindgen_main()
}
