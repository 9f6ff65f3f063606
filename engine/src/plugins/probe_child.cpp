#include "probe_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "coe/internal/clock.hpp"

extern char **environ;

namespace coe::detail {
namespace {

using internal::Clock;

// Owns the spawn attributes and file actions for one child.
class SpawnSetup {
public:
    explicit SpawnSetup(int protocol_fd) {
        posix_spawn_file_actions_init(&actions_);
        posix_spawnattr_init(&attr_);
        posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions_, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions_, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&actions_, protocol_fd, 3);  // clears close-on-exec on 3
        posix_spawn_file_actions_addclosefrom_np(&actions_, 4);       // nothing else of the host leaks in
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr_, &none);
        posix_spawnattr_setsigdefault(&attr_, &all);  // ignored signals (SIGPIPE) back to default
        posix_spawnattr_setpgroup(&attr_, 0);
        posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attr_);
    }
    SpawnSetup(const SpawnSetup &) = delete;
    SpawnSetup &operator=(const SpawnSetup &) = delete;
    const posix_spawn_file_actions_t *actions() const { return &actions_; }
    const posix_spawnattr_t *attr() const { return &attr_; }

private:
    posix_spawn_file_actions_t actions_;
    posix_spawnattr_t attr_;
};

// Waits for `pid` until `deadline`; false if it is still running then.
bool wait_until(pid_t pid, Clock::time_point deadline, int &status) {
    auto pause = std::chrono::microseconds(200);
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) {  // ECHILD: the host reaps children itself (SIGCHLD ignored)
            status = 0;
            return true;
        }
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
}

void take_lines(std::string &buffer, ChildOutcome &out, Clock::time_point &deadline,
                std::chrono::milliseconds phase_timeout) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string line = buffer.substr(start, nl - start);
        if (line.rfind("phase ", 0) == 0) {
            out.phase = line.substr(6);
            deadline = Clock::now() + phase_timeout;
        } else {
            out.lines.push_back(std::move(line));
        }
    }
    buffer.erase(0, start);
}

}  // namespace

ChildOutcome run_probe_child(const std::filesystem::path &program, const std::vector<std::string> &args,
                             std::chrono::milliseconds phase_timeout) {
    ChildOutcome out;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        out.error = std::string("cannot create a pipe: ") + std::strerror(errno);
        return out;
    }
    std::vector<std::string> argv_storage;
    argv_storage.push_back(program.string());
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = 0;
    int spawn_error = 0;
    {
        const SpawnSetup setup(fds[1]);
        spawn_error = ::posix_spawn(&pid, argv[0], setup.actions(), setup.attr(), argv.data(), environ);
    }
    ::close(fds[1]);
    if (spawn_error != 0) {
        ::close(fds[0]);
        out.error = "cannot start " + program.string() + ": " + std::strerror(spawn_error);
        return out;
    }

    Clock::time_point deadline = Clock::now() + phase_timeout;
    std::string buffer;
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1000)));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        char chunk[4096];
        const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;  // the child closed its end: it is exiting
        buffer.append(chunk, static_cast<std::size_t>(n));
        take_lines(buffer, out, deadline, phase_timeout);
    }
    ::close(fds[0]);
    if (!buffer.empty()) out.lines.push_back(buffer);  // a last line without its newline

    int status = 0;
    if (timed_out || !wait_until(pid, deadline, status)) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        out.end = ChildOutcome::End::timed_out;
        return out;
    }
    ::kill(-pid, SIGKILL);  // anything the plugin forked and left behind
    if (WIFSIGNALED(status)) {
        out.end = ChildOutcome::End::signalled;
        out.code = WTERMSIG(status);
    } else {
        out.end = ChildOutcome::End::exited;
        out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    }
    return out;
}

std::string describe_duration(std::chrono::milliseconds d) {
    const long long ms = d.count();
    if (ms < 1000) return std::to_string(ms) + " ms";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    std::string s = std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 + 1000).substr(1);
    while (s.back() == '0') s.pop_back();
    return s + " s";
}

std::string describe_end(const ChildOutcome &o, std::chrono::milliseconds phase_timeout) {
    switch (o.end) {
    case ChildOutcome::End::exited: return "terminated the process with status " + std::to_string(o.code);
    case ChildOutcome::End::signalled: {
        const char *name = ::strsignal(o.code);
        return "crashed with signal " + std::to_string(o.code) + " (" + (name ? name : "?") + ")";
    }
    case ChildOutcome::End::timed_out: return "timed out after " + describe_duration(phase_timeout);
    case ChildOutcome::End::not_started: return o.error;
    }
    return {};
}

}  // namespace coe::detail
