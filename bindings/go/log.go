package burrow

/*
#include "shims.h"
*/
import "C"

import (
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The library has one log sink per process, so the binding has one logger: the Logger of the
// latest NewPool.
var (
	logger    atomic.Pointer[zap.Logger]
	logMu     sync.Mutex
	logActive bool
)

func setLogger(l *zap.Logger) {
	logMu.Lock()
	defer logMu.Unlock()
	// The caller would always be this file: leave it out.
	logger.Store(l.WithOptions(zap.WithCaller(false)))
	level := C.burrow_log_level(C.BURROW_LOG_ERROR)
	switch {
	case l.Core().Enabled(zapcore.DebugLevel):
		level = C.BURROW_LOG_DEBUG
	case l.Core().Enabled(zapcore.InfoLevel):
		level = C.BURROW_LOG_INFO
	case l.Core().Enabled(zapcore.WarnLevel):
		level = C.BURROW_LOG_WARN
	}
	rc := C.burrow_set_log_callback(C.burrow_log_fn(C.burrow_go_log_trampoline), nil, level)
	if rc != C.BURROW_RESULT_OK && !logActive {
		l.Warn("burrow: cannot forward library logs", zap.String("reason", C.GoString(C.burrow_result_message(C.uint32_t(rc)))))
		return
	}
	logActive = true
}

//export goLog
func goLog(level C.burrow_log_level, target *C.char, message *C.char) {
	l := logger.Load()
	if l == nil {
		return
	}
	msg := C.GoString(message)
	fields := []zap.Field{zap.String("target", C.GoString(target))}
	switch level {
	case C.BURROW_LOG_TRACE, C.BURROW_LOG_DEBUG:
		l.Debug(msg, fields...)
	case C.BURROW_LOG_INFO:
		l.Info(msg, fields...)
	case C.BURROW_LOG_WARN:
		l.Warn(msg, fields...)
	default:
		l.Error(strings.TrimSpace(msg), fields...)
	}
}
