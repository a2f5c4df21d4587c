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

// The library has one log callback per process; the binding routes each line to a pool's
// Logger when the line comes from one of that pool's threads: the thread running the pool (the
// goroutine's thread inside Run) and the library's worker threads while they hand messages
// over. The shims keep the pool's log id in a thread-local variable for that. Lines from other
// threads (the poll thread, librdkafka's internal threads) and from pools' set-up go to the
// library logger: SetLibraryLogger's, or else the Logger of the most recently created pool that
// is still open.
var (
	logMu     sync.RWMutex
	loggers   = map[uintptr]*zap.Logger{} // log id → pool logger (open pools)
	logOrder  []uintptr                   // open pools' log ids, oldest first
	libLogger *zap.Logger                 // SetLibraryLogger; nil: the latest pool's
	logActive bool                        // the callback is installed
	nextLogID atomic.Uintptr
)

// SetLibraryLogger sets the logger for library log lines that belong to no pool in particular
// (librdkafka's internal threads, the poll thread, pool set-up). nil restores the default: the
// Logger of the most recently created pool that is still open.
func SetLibraryLogger(l *zap.Logger) {
	logMu.Lock()
	defer logMu.Unlock()
	if l != nil {
		l = l.WithOptions(zap.WithCaller(false))
	}
	libLogger = l
	installLogCallback(l)
}

// registerLogger gives a pool a log id and routes its lines to l.
func registerLogger(l *zap.Logger) uintptr {
	id := nextLogID.Add(1)
	logMu.Lock()
	defer logMu.Unlock()
	loggers[id] = l.WithOptions(zap.WithCaller(false))
	logOrder = append(logOrder, id)
	installLogCallback(l)
	return id
}

// unregisterLogger forgets a closed pool's logger.
func unregisterLogger(id uintptr) {
	logMu.Lock()
	defer logMu.Unlock()
	delete(loggers, id)
	for i, v := range logOrder {
		if v == id {
			logOrder = append(logOrder[:i], logOrder[i+1:]...)
			break
		}
	}
	installLogCallback(nil)
}

// installLogCallback installs the callback (once) with the most verbose level any logger wants;
// logMu is held. warnTo receives a warning when the callback cannot be installed.
func installLogCallback(warnTo *zap.Logger) {
	level := C.burrow_log_level(C.BURROW_LOG_ERROR)
	consider := func(l *zap.Logger) {
		switch {
		case l.Core().Enabled(zapcore.DebugLevel):
			level = min(level, C.BURROW_LOG_DEBUG)
		case l.Core().Enabled(zapcore.InfoLevel):
			level = min(level, C.BURROW_LOG_INFO)
		case l.Core().Enabled(zapcore.WarnLevel):
			level = min(level, C.BURROW_LOG_WARN)
		}
	}
	for _, l := range loggers {
		consider(l)
	}
	if libLogger != nil {
		consider(libLogger)
	}
	if len(loggers) == 0 && libLogger == nil && !logActive {
		return
	}
	rc := C.burrow_set_log_callback(C.burrow_log_fn(C.burrow_go_log_trampoline), nil, level)
	if rc != C.BURROW_RESULT_OK && !logActive {
		if warnTo != nil {
			warnTo.Warn("burrow: cannot forward library logs", zap.String("reason", C.GoString(C.burrow_result_message(C.uint32_t(rc)))))
		}
		return
	}
	logActive = true
}

// loggerFor returns the logger for a line from a thread tagged with id (0: none).
func loggerFor(id uintptr) *zap.Logger {
	logMu.RLock()
	defer logMu.RUnlock()
	if l, ok := loggers[id]; ok {
		return l
	}
	if libLogger != nil {
		return libLogger
	}
	if n := len(logOrder); n > 0 {
		return loggers[logOrder[n-1]]
	}
	return nil
}

//export goLog
func goLog(id C.uintptr_t, level C.burrow_log_level, target *C.char, message *C.char) {
	l := loggerFor(uintptr(id))
	if l == nil {
		return
	}
	lvl := zapcore.ErrorLevel
	switch level {
	case C.BURROW_LOG_TRACE, C.BURROW_LOG_DEBUG:
		lvl = zapcore.DebugLevel
	case C.BURROW_LOG_INFO:
		lvl = zapcore.InfoLevel
	case C.BURROW_LOG_WARN:
		lvl = zapcore.WarnLevel
	}
	if ce := l.Check(lvl, strings.TrimSpace(C.GoString(message))); ce != nil {
		ce.Write(zap.String("target", C.GoString(target)))
	}
}
