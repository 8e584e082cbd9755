// Opening a socket inside another network namespace: setns on this thread, open, set it
// back. The socket stays in the namespace it was created in.
#pragma once
#include <functional>

// netnsPath "" opens here. Returns open()'s result (an fd or -errno), or -errno of setns.
int openInNamespace(const char* netnsPath, const std::function<int()>& open);
