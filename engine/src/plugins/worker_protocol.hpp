// worker_protocol.hpp - what the engine and coe-plugin-worker say to each
// other (host side: plugins/isolated_plugin.hpp; worker: probe/
// plugin_worker_main.cpp).
//
// The worker is started as `coe-plugin-worker FILE HOST_PID` with a stream
// socket on file descriptor 3 and the shared memory (a memfd) on 4; its
// stdin, stdout and stderr are /dev/null.  It loads FILE, then writes text
// lines on the socket:
//   "op <id> <revision> <flags>"   one per operation, in descriptor order
//   "info <key>=<value>"           name, id, version, description, abi,
//                                  features, thread_safety
//   "ok"                           ready for calls
//   "reject <reason>"              cannot serve (it exits)
// Then, per call, the host writes a Request and the worker answers a Reply
// once the operation returned, its results in the shared memory (layout:
// plugins/call_marshal.hpp).  The worker exits when the socket closes or its
// host process is gone.
#pragma once

#include <cstdint>

namespace coe::detail::worker_protocol {

constexpr int socket_fd = 3;
constexpr int memory_fd = 4;

struct Request {
    std::uint32_t op_index;      // into the operations as the worker listed them
    std::uint32_t reserved;      // 0
    std::uint64_t region_bytes;  // bytes of the shared memory this call uses (the memfd is at least this large)
};

struct Reply {
    std::int32_t status;  // the operation's coe_status; its message is at the start of the region
    std::uint32_t reserved;
};

}  // namespace coe::detail::worker_protocol
