//go:build dynamic

package burrow

// With -tags dynamic the package links the libburrow installed on the system, found with
// pkg-config (see README.md, "Building against an installed library").

// #cgo pkg-config: burrow
import "C"

// linkage says how libburrow is linked (TestLinkedLibrary).
const linkage = "dynamic"
