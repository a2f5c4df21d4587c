package burrow

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLinkedLibrary checks which libburrow the process loaded: with BURROW_EXPECT_LIBDIR set
// (make go-test sets it to the staged lib directory) it must come from there, via the rpath.
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
	require.NotEmpty(t, path, "libburrow.so is not mapped: linked statically?")
	t.Logf("loaded %s (version %s)", path, LibraryVersion())
	if dir := os.Getenv("BURROW_EXPECT_LIBDIR"); dir != "" {
		assert.True(t, strings.HasPrefix(path, dir+"/"), "loaded %s, want one from %s", path, dir)
	}
	assert.NoError(t, CheckVersion())
}
