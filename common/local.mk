libward_a_SOURCES += \
	common/cleanup.h \
	common/error.c common/error.h \
	common/fs.c common/fs.h \
	common/log.c common/log.h \
	common/sha256.c common/sha256.h \
	common/strbuf.c common/strbuf.h
