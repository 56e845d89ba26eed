/* libbpf for EmberBPF (the loader) and the layouts Ember's BPF programs share with their readers. */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "runqueue.h"
#include "capture.h"
