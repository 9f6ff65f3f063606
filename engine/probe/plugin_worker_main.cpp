// coe-plugin-worker: loads one plugin file in a process of its own and runs
// its operations for the engine, one call at a time, until the engine closes
// the socket or is gone (protocol: src/plugins/worker_protocol.hpp).  Started
// by the engine for each plugin that runs isolated (coe/plugin_isolation.hpp);
// not meant to be run by hand.
//
//   coe-plugin-worker FILE HOST_PID
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "coe/cpu_features.hpp"
#include "plugins/call_marshal.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/worker_protocol.hpp"

namespace {

namespace proto = coe::detail::worker_protocol;
namespace marshal = coe::detail::marshal;

bool send_all(const void *from, std::size_t bytes) {
    const auto *p = static_cast<const char *>(from);
    while (bytes > 0) {
        const ssize_t n = ::send(proto::socket_fd, p, bytes, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        bytes -= static_cast<std::size_t>(n);
    }
    return true;
}

void say(const std::string &line) {
    std::string clean = line;
    for (char &c : clean)
        if (c == '\n' || c == '\r') c = ' ';
    clean.push_back('\n');
    if (!send_all(clean.data(), clean.size())) std::_Exit(0);
}

// False at the end of the stream: the engine closed the socket.
bool receive(proto::Request &r) {
    auto *p = reinterpret_cast<char *>(&r);
    std::size_t left = sizeof r;
    while (left > 0) {
        const ssize_t n = ::recv(proto::socket_fd, p, left, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return true;
}

// The shared memory, mapped whole; remapped when the engine grew it.
struct Region {
    std::byte *base = nullptr;
    std::size_t size = 0;
    bool cover(std::size_t bytes) {
        if (bytes <= size) return true;
        struct stat st {};
        if (::fstat(proto::memory_fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < bytes) return false;
        void *m = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                         proto::memory_fd, 0);
        if (m == MAP_FAILED) return false;
        if (base != nullptr) ::munmap(base, size);
        base = static_cast<std::byte *>(m);
        size = static_cast<std::size_t>(st.st_size);
        return true;
    }
};

coe_status fail(Region &region, const char *why) {
    if (region.base != nullptr) std::snprintf(reinterpret_cast<char *>(region.base), marshal::message_bytes, "%s", why);
    return COE_ERR_INVALID_ARGUMENT;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const pid_t host = static_cast<pid_t>(std::atol(argv[2]));
    // A plugin hanging in a call never outlives the engine that started it
    // (PR_SET_PDEATHSIG would follow the starting thread, not the process).
    std::thread([host] {
        while (::getppid() == host) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::_Exit(0);
    }).detach();

    const coe::detail::LoadOutcome loaded =
        coe::detail::load_plugin({argv[1], "worker"}, coe::probe_cpu_features(), {}, nullptr);
    if (!loaded.backend) {
        say("reject " + loaded.info.reason);
        return 0;
    }
    const coe_plugin_descriptor &d = loaded.backend->descriptor();
    for (std::uint32_t i = 0; i < d.operation_count; ++i)
        say("op " + std::string(d.operations[i]->id) + " " + std::to_string(d.operations[i]->revision) + " " +
            std::to_string(coe::detail::Backend::flags(*d.operations[i])));
    say("info name=" + loaded.info.name);
    say("info id=" + loaded.info.id);
    say("info version=" + loaded.info.version);
    say(std::string("info description=") + (d.description != nullptr ? d.description : ""));
    say("info abi=" + loaded.info.abi);
    say("info features=" + std::to_string(loaded.info.required_features));
    say("ok");

    Region region;
    proto::Request request{};
    while (receive(request)) {
        proto::Reply reply{COE_OK, 0};
        if (request.op_index >= d.operation_count) {
            reply.status = fail(region, "no such operation");
        } else if (!region.cover(request.region_bytes)) {
            reply.status = COE_ERR_OUT_OF_MEMORY;
        } else {
            const coe_operation *op = d.operations[request.op_index];
            const marshal::OpKind kind = marshal::kind_of(op->id);
            if (!marshal::rebase(kind, region.base, request.region_bytes)) {
                reply.status = fail(region, "the call's arguments point outside the shared memory");
            } else {
                coe_call call{sizeof(coe_call), static_cast<std::uint32_t>(marshal::message_bytes),
                              reinterpret_cast<char *>(region.base)};
                try {
                    reply.status = op->invoke(region.base + marshal::args_offset, &call);
                } catch (...) {
                    reply.status = COE_ERR_INTERNAL;
                }
                region.base[marshal::message_bytes - 1] = std::byte{0};
            }
        }
        if (!send_all(&reply, sizeof reply)) break;
    }
    return 0;
}
