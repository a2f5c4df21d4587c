package burrow

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLinkedLibrary checks how libburrow is linked. With -tags dynamic the process maps
// libburrow.so, from BURROW_EXPECT_LIBDIR when set (make go-test sets it to the staged lib
// directory, reached through the rpath); by default no libburrow.so is loaded at all.
func TestLinkedLibrary(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	var path string
	for _, line := range strings.Split(string(maps), "\n") {
		if i := strings.Index(line, "/"); i >= 0 && strings.Contains(line, "libburrow.so") {
			path = line[i:]
			break
		}
	}
	t.Logf("linkage %s, libburrow %s, mapped %q", linkage, LibraryVersion(), path)
	if linkage == "static" {
		assert.Empty(t, path, "the default build links the vendored static library")
	} else {
		require.NotEmpty(t, path, "libburrow.so is not mapped")
		if dir := os.Getenv("BURROW_EXPECT_LIBDIR"); dir != "" {
			assert.True(t, strings.HasPrefix(path, dir+"/"), "loaded %s, want one from %s", path, dir)
		}
	}
	assert.NoError(t, CheckVersion())
}

// The module path and the URL in burrow.pc name the same repository.
func TestModulePathMatchesPkgConfigURL(t *testing.T) {
	gomod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	module := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(gomod), "\n", 2)[0], "module "))
	root := os.Getenv("BURROW_REPO_ROOT")
	if root == "" {
		root = "../.."
	}
	pc, err := os.ReadFile(root + "/burrow.pc.in")
	if err != nil {
		t.Skipf("not inside the repository: %v", err)
	}
	var url string
	for _, line := range strings.Split(string(pc), "\n") {
		if v, ok := strings.CutPrefix(line, "URL: "); ok {
			url = strings.TrimPrefix(strings.TrimSpace(v), "https://")
		}
	}
	require.NotEmpty(t, url, "burrow.pc.in has a URL")
	assert.True(t, strings.HasPrefix(module, url+"/"), "module %s is not in the repository %s named by burrow.pc.in", module, url)
}
