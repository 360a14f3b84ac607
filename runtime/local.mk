# runtime: container lifecycle (create/start/run/state/list/kill/delete/exec/ps/update/events)
libward_a_SOURCES += \
	runtime/runtime.h runtime/internal.h \
	runtime/format.c \
	runtime/state.c \
	runtime/sync.c \
	runtime/hooks.c \
	runtime/cloned_binary.c \
	runtime/create.c \
	runtime/init.c \
	runtime/kill_delete.c \
	runtime/list.c \
	runtime/clone.c \
	runtime/wait.c \
	runtime/exec.c \
	runtime/ps.c \
	runtime/update.c \
	runtime/events.c

# Unit tests (TAP, tests/unit/tap.h).
check_PROGRAMS += tests/unit/test-runtime
TESTS += tests/unit/test-runtime
tests_unit_test_runtime_SOURCES = tests/unit/test-runtime.c tests/unit/tap.h
tests_unit_test_runtime_LDADD = $(WARD_LIBS)
