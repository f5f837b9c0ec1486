// hakmem_version(): the version of the library that is running, for a
// program to compare with the HAKMEM_VERSION it was compiled against.
#include "hakmem.h"

extern "C" int hakmem_version(void) { return HAKMEM_VERSION; }
extern "C" const char* hakmem_version_string(void) { return HAKMEM_VERSION_STRING; }
