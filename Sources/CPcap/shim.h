#include <pcap/pcap.h>

/// PCAP_ERRBUF_SIZE is a macro Swift imports; the callback type of
/// pcap_dispatch is used through a Swift closure with a context pointer.
static inline int geneva_pcap_errbuf_size(void) { return PCAP_ERRBUF_SIZE; }
