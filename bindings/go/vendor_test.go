//go:build !dynamic

package burrow

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const regenerate = "the vendored libburrow is stale: run `make go-vendor` at the top of the repository and commit bindings/go/libburrow_vendor"

// TestVendoredLibraryIsCurrent: the prebuilt archive the package links by default must be the
// library of these sources: its burrow_version(), its stamp, the header it was built from, the
// package's Version and (inside the repository) Cargo.toml and include/burrow.h all agree.
func TestVendoredLibraryIsCurrent(t *testing.T) {
	assert.Equal(t, Version, HeaderVersion, "vendored burrow.h; "+regenerate)
	assert.Equal(t, Version, LibraryVersion(), "burrow_version() of the linked archive; "+regenerate)

	stamp, err := os.ReadFile("libburrow_vendor/VERSION")
	require.NoError(t, err, regenerate)
	m := regexp.MustCompile(`(?m)^version=(.+)$`).FindSubmatch(stamp)
	require.NotNil(t, m, "no version in libburrow_vendor/VERSION; "+regenerate)
	assert.Equal(t, Version, string(m[1]), "libburrow_vendor/VERSION; "+regenerate)

	root := os.Getenv("BURROW_REPO_ROOT")
	if root == "" {
		root = filepath.Join("..", "..")
	}
	cargo, err := os.ReadFile(filepath.Join(root, "Cargo.toml"))
	if err != nil {
		t.Skipf("not inside the repository (%v): sources not checked", err)
	}
	cm := regexp.MustCompile(`(?m)^version\s*=\s*"([^"]+)"`).FindSubmatch(cargo)
	require.NotNil(t, cm)
	assert.Equal(t, string(cm[1]), Version, "Cargo.toml's version: update Version in burrow.go, then "+strings.TrimPrefix(regenerate, "the vendored libburrow is stale: "))
	header, err := os.ReadFile(filepath.Join(root, "include", "burrow.h"))
	require.NoError(t, err)
	vendored, err := os.ReadFile("libburrow_vendor/burrow.h")
	require.NoError(t, err, regenerate)
	assert.True(t, string(header) == string(vendored), "include/burrow.h differs from libburrow_vendor/burrow.h; "+regenerate)
}
