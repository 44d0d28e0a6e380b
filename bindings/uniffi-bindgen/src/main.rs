//! UniFFI's binding generator, built from the same UniFFI version as `parkline-ffi`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
