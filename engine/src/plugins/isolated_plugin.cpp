#include "isolated_plugin.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#include "call_marshal.hpp"
#include "coe/error.hpp"
#include "probe_child.hpp"
#include "worker_protocol.hpp"

extern char **environ;

namespace coe::detail {
namespace {

using Clock = std::chrono::steady_clock;
namespace proto = worker_protocol;

constexpr std::size_t first_region_bytes = std::size_t{1} << 20;
constexpr std::chrono::milliseconds first_backoff{50}, max_backoff{5000};

std::string errno_text(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

coe_status refuse_direct_call(void *, const coe_call *call) {
    if (call != nullptr && call->error_message != nullptr && call->error_capacity > 0) {
        const char text[] = "an isolated plugin is called through its worker process";
        const std::size_t n = std::min<std::size_t>(sizeof text, call->error_capacity);
        std::memcpy(call->error_message, text, n);
        call->error_message[n - 1] = '\0';
    }
    return COE_ERR_UNSUPPORTED;
}

// A descriptor above 2 would collide with the spawn's own targets (3 and 4).
int high_copy(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 10); }

int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

// Reads exactly `bytes` before `deadline`.  0: done; 1: timed out; -1: the
// peer closed or an error.
int read_exactly(int fd, void *into, std::size_t bytes, Clock::time_point deadline) {
    auto *p = static_cast<char *>(into);
    while (bytes > 0) {
        if (Clock::now() >= deadline) return 1;
        pollfd pfd{fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) return -1;
        if (ready <= 0) continue;
        const ssize_t n = ::recv(fd, p, bytes, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return -1;
        p += n;
        bytes -= static_cast<std::size_t>(n);
    }
    return 0;
}

bool write_all(int fd, const void *from, std::size_t bytes) {
    const auto *p = static_cast<const char *>(from);
    while (bytes > 0) {
        const ssize_t n = ::send(fd, p, bytes, MSG_NOSIGNAL);  // a dead worker must not SIGPIPE the host
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        bytes -= static_cast<std::size_t>(n);
    }
    return true;
}

void copy_message(const std::string &text, char *message, std::size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    const std::size_t n = std::min(text.size(), capacity - 1);
    std::memcpy(message, text.data(), n);
    message[n] = '\0';
}

}  // namespace

struct IsolatedPlugin::Worker {
    pid_t pid = 0;
    int socket = -1;
    std::uint64_t answered = 0;  // calls it answered
    ~Worker() {
        if (socket >= 0) ::close(socket);
    }
    // Waits up to `grace` for the process to end by itself, then kills its
    // process group; says how it ended.
    std::string end(std::chrono::milliseconds grace) {
        ChildOutcome o;
        int status = 0;
        const auto deadline = Clock::now() + grace;
        bool reaped = false;
        for (;;) {
            const pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR)) {  // ECHILD: SIGCHLD is ignored by the host
                reaped = r == pid;
                break;
            }
            if (Clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ::kill(-pid, SIGKILL);  // what the plugin forked, or the worker itself when it did not end
        if (!reaped && ::waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            return "was killed";
        if (!reaped) return "ended";
        o.end = WIFSIGNALED(status) ? ChildOutcome::End::signalled : ChildOutcome::End::exited;
        o.code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
        return describe_end(o, grace);
    }
};

IsolatedPlugin::IsolatedPlugin(std::filesystem::path worker, std::filesystem::path file,
                               std::chrono::milliseconds timeout)
    : worker_program_(std::move(worker)), file_(std::move(file)), timeout_(timeout) {}

IsolatedPlugin::~IsolatedPlugin() {
    stop_worker();
    if (region_ != nullptr) ::munmap(region_, region_size_);
    if (memory_fd_ >= 0) ::close(memory_fd_);
}

std::shared_ptr<IsolatedPlugin> IsolatedPlugin::start(const std::filesystem::path &worker,
                                                      const std::filesystem::path &file,
                                                      std::chrono::milliseconds call_timeout) {
    std::shared_ptr<IsolatedPlugin> p(new IsolatedPlugin(worker, file, call_timeout));
    std::lock_guard<std::mutex> lock(p->mutex_);
    std::vector<std::string> lines;
    if (std::string why = p->launch(lines); !why.empty()) throw Error(why);
    p->describe(lines);
    return p;
}

bool IsolatedPlugin::ensure_region(std::size_t bytes, std::string &error) {
    if (memory_fd_ < 0) {
        memory_fd_ = ::memfd_create("coe-plugin-call", MFD_CLOEXEC);
        if (memory_fd_ < 0) {
            error = errno_text("cannot create shared memory");
            return false;
        }
    }
    if (bytes <= region_size_) return true;
    std::size_t size = std::max({bytes, region_size_ * 2, first_region_bytes});
    size = (size + 65535) / 65536 * 65536;
    if (::ftruncate(memory_fd_, static_cast<off_t>(size)) != 0) {
        error = errno_text("cannot grow shared memory");
        return false;
    }
    void *mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memory_fd_, 0);
    if (mapped == MAP_FAILED) {
        error = errno_text("cannot map shared memory");
        return false;
    }
    if (region_ != nullptr) ::munmap(region_, region_size_);
    region_ = static_cast<std::byte *>(mapped);
    region_size_ = size;
    return true;
}

std::string IsolatedPlugin::launch(std::vector<std::string> &lines) {
    ++starts_;
    std::string error;
    if (!ensure_region(first_region_bytes, error)) return error;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return errno_text("cannot create a socket");
    const int child_socket = high_copy(sv[1]), child_memory = high_copy(memory_fd_);
    ::close(sv[1]);
    std::string program = worker_program_.string(), file = file_.string(), host = std::to_string(::getpid());
    char *argv[] = {program.data(), file.data(), host.data(), nullptr};
    pid_t pid = 0;
    int spawn_error = EBADF;
    if (child_socket >= 0 && child_memory >= 0) {
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, child_socket, proto::socket_fd);
        posix_spawn_file_actions_adddup2(&actions, child_memory, proto::memory_fd);
        posix_spawn_file_actions_addclosefrom_np(&actions, proto::memory_fd + 1);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        spawn_error = ::posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    if (child_socket >= 0) ::close(child_socket);
    if (child_memory >= 0) ::close(child_memory);
    if (spawn_error != 0) {
        ::close(sv[0]);
        return "cannot start the plugin worker " + program + ": " + std::strerror(spawn_error);
    }
    auto w = std::make_unique<Worker>();
    w->pid = pid;
    w->socket = sv[0];

    // its description, line by line, up to "ok" or "reject"
    const auto deadline = Clock::now() + timeout_;
    std::string buffer;
    for (;;) {
        char c = 0;
        const int r = read_exactly(w->socket, &c, 1, deadline);
        if (r != 0) {
            const std::string how = r > 0 ? "did not describe the plugin within " + describe_duration(timeout_)
                                          : w->end(timeout_) + " while loading the plugin";
            if (r > 0) w->end(std::chrono::milliseconds(0));
            return "the plugin worker " + how;
        }
        if (c != '\n') {
            buffer.push_back(c);
            continue;
        }
        if (buffer == "ok") break;
        if (buffer.rfind("reject ", 0) == 0) {
            w->end(timeout_);
            return "the plugin worker cannot load it: " + buffer.substr(7);
        }
        lines.push_back(std::move(buffer));
        buffer.clear();
    }
    worker_ = std::move(w);
    return {};
}

void IsolatedPlugin::describe(const std::vector<std::string> &lines) {
    std::string name, id, version, description;
    std::uint64_t features = 0;
    std::uint32_t abi_minor = COE_ABI_MINOR;
    struct Op {
        std::string id;
        std::uint32_t revision, flags;
    };
    std::vector<Op> ops;
    for (const auto &l : lines) {
        if (l.rfind("op ", 0) == 0) {
            std::istringstream in(l.substr(3));
            Op op{};
            in >> op.id >> op.revision >> op.flags;
            ops.push_back(op);
            signature_ += l + "\n";
            continue;
        }
        const auto eq = l.find('=');
        if (l.rfind("info ", 0) != 0 || eq == std::string::npos) continue;
        const std::string key = l.substr(5, eq - 5), value = l.substr(eq + 1);
        if (key == "name") name = value;
        else if (key == "id") id = value;
        else if (key == "version") version = value;
        else if (key == "description") description = value;
        else if (key == "features") features = std::strtoull(value.c_str(), nullptr, 10);
        else if (key == "abi") abi_minor = static_cast<std::uint32_t>(std::atoi(value.c_str() + value.find('.') + 1));
    }
    strings_ = {name, id, version, description};
    for (const auto &op : ops) strings_.push_back(op.id);  // no reallocation after this: pointers are taken below
    operations_.clear();
    for (std::size_t i = 0; i < ops.size(); ++i)
        operations_.push_back(
            {sizeof(coe_operation), ops[i].revision, strings_[4 + i].c_str(), &refuse_direct_call, ops[i].flags, 0});
    for (const auto &op : operations_) operation_table_.push_back(&op);
    descriptor_ = {sizeof(coe_plugin_descriptor),
                   static_cast<std::uint16_t>(COE_ABI_MAJOR),
                   static_cast<std::uint16_t>(abi_minor),
                   strings_[1].c_str(),
                   strings_[0].c_str(),
                   strings_[2].c_str(),
                   strings_[3].c_str(),
                   features,
                   COE_THREAD_SAFETY_SERIALIZED,
                   static_cast<std::uint32_t>(operation_table_.size()),
                   operation_table_.data(),
                   nullptr};  // extensions are not passed on from the worker
}

void IsolatedPlugin::stop_worker() {
    std::unique_ptr<Worker> w = std::move(worker_);
    if (!w) return;
    ::close(w->socket);  // a worker waiting for a call exits on its own
    w->socket = -1;
    w->end(std::chrono::milliseconds(0));
}

std::string IsolatedPlugin::fail_worker(const std::string &what) {
    const bool served = worker_ && worker_->answered > 0;
    worker_.reset();
    if (served) {  // it worked for a while: a fresh worker is worth a try at once
        backoff_ = first_backoff;
        next_start_ = Clock::now();
        return what + "; a new worker starts on the next call";
    }
    next_start_ = Clock::now() + backoff_;  // failing again and again: wait longer each time
    const std::string text = what + "; a new worker starts in " + describe_duration(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    return text;
}

coe_status IsolatedPlugin::call(std::uint32_t op_index, void *args, char *message, std::size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (op_index >= operations_.size()) {
        copy_message("no such operation", message, capacity);
        return COE_ERR_INVALID_ARGUMENT;
    }
    if (!worker_) {
        const auto now = Clock::now();
        if (now < next_start_) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_start_ - now);
            copy_message("the plugin's worker failed again and again: a new one starts in " + describe_duration(left),
                         message, capacity);
            return COE_ERR_INTERNAL;
        }
        std::vector<std::string> lines;
        std::string why = launch(lines);
        if (why.empty()) {
            std::string signature;
            for (const auto &l : lines)
                if (l.rfind("op ", 0) == 0) signature += l + "\n";
            if (signature != signature_) {
                stop_worker();
                why = "the restarted plugin worker lists other operations (the file changed)";
            }
        }
        if (!why.empty()) {
            copy_message(fail_worker(why), message, capacity);
            return COE_ERR_INTERNAL;
        }
    }
    const marshal::OpKind kind = marshal::kind_of(operations_[op_index].id);
    if (kind == marshal::OpKind::unknown) {
        copy_message("an operation this host cannot pass to a worker process", message, capacity);
        return COE_ERR_UNSUPPORTED;
    }
    const std::size_t bytes = marshal::region_bytes(kind, args);
    std::string error;
    if (bytes == 0) {
        copy_message("the call's buffers are too large to pass to the worker", message, capacity);
        return COE_ERR_INVALID_ARGUMENT;
    }
    if (!ensure_region(bytes, error)) {
        copy_message(error, message, capacity);
        return COE_ERR_OUT_OF_MEMORY;
    }
    marshal::pack(kind, args, region_);
    const proto::Request request{op_index, 0, bytes};
    proto::Reply reply{};
    auto op = [&] {
        return std::string(operations_[op_index].id) + "/" + std::to_string(operations_[op_index].revision);
    };
    if (!write_all(worker_->socket, &request, sizeof request)) {
        copy_message(fail_worker("the plugin's worker " + worker_->end(timeout_) + " before " + op()), message,
                     capacity);
        return COE_ERR_INTERNAL;
    }
    const int r = read_exactly(worker_->socket, &reply, sizeof reply, Clock::now() + timeout_);
    if (r > 0) {
        worker_->end(std::chrono::milliseconds(0));
        copy_message(fail_worker("the plugin hung in " + op() + ": no answer within " + describe_duration(timeout_) +
                                 ", its worker was killed"),
                     message, capacity);
        return COE_ERR_INTERNAL;
    }
    if (r < 0) {
        copy_message(fail_worker("the plugin's worker " + worker_->end(timeout_) + " in " + op()), message, capacity);
        return COE_ERR_INTERNAL;
    }
    ++worker_->answered;
    marshal::unpack(kind, args, region_, reply.status == COE_OK);
    if (reply.status == COE_OK) backoff_ = first_backoff;
    const char *text = reinterpret_cast<const char *>(region_);
    copy_message(std::string(text, strnlen(text, marshal::message_bytes)), message, capacity);
    return reply.status;
}

std::uint64_t IsolatedPlugin::restarts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return starts_ > 0 ? starts_ - 1 : 0;
}

pid_t IsolatedPlugin::worker_pid() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return worker_ ? worker_->pid : 0;
}

}  // namespace coe::detail
