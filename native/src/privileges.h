#pragma once
#include <cstdint>

// Keep the permitted capabilities when this thread's uids change from root: 0 or -errno.
int keepCapabilitiesOnSetuid();
// Effective = permitted = inheritable = `mask`, and each raised in the ambient set: 0 or -errno.
int setCapabilities(uint64_t mask);
// Raises this process's open-file soft limit to its hard limit: the new soft limit, or -errno.
long raiseFileLimit();
