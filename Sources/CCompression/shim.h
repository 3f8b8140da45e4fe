// The compressors kdump-compressed dumps and .xz inputs use, from Debian's packages:
// zlib1g-dev, liblzo2-dev, libsnappy-dev (its C API), libzstd-dev, liblzma-dev.
#include <zlib.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <zstd.h>
#include <lzma.h>

// lzo_init() is a macro Swift cannot call; it checks the library's ABI once.
static inline int ccompression_lzo_init(void) { return lzo_init(); }
