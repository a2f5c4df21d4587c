// Package libburrow_vendor holds the prebuilt static libburrow that package burrow links by
// default (without -tags dynamic), one archive per platform, with the burrow.h it was built
// from and a VERSION stamp. Regenerate it with `make go-vendor` at the top of the repository;
// TestVendoredLibraryIsCurrent fails when it is stale. It has no Go API.
package libburrow_vendor
