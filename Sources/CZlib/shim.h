#include <zlib.h>

/// inflateInit2() is a macro over inflateInit2_(), which Swift cannot call
/// through the macro. windowBits 15 + 32: zlib or gzip, detected from the header.
static inline int geneva_inflate_init(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}
