// zlib for Swift: the knowledge base inflates the XML parts of DOCX and ODT archives with it.
#ifndef FABRIQUE_CZLIB_SHIM_H
#define FABRIQUE_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro; Swift calls this function instead.
static inline int fabrique_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}
#endif
