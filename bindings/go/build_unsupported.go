//go:build !dynamic && !(linux && (amd64 || arm64))

package burrow

// No prebuilt libburrow for this platform: build and install the library (make install at the
// top of the repository) and build with -tags dynamic. The line below makes the compiler say so.
var _ = burrow_has_no_prebuilt_library_for_this_platform__build_libburrow_and_use_tags_dynamic
