// isolated_plugin.hpp - the engine's side of a plugin that runs in a
// resident worker process (coe/plugin_isolation.hpp for the contract,
// plugins/worker_protocol.hpp for the wire).
//
// Ownership: an IsolatedPlugin owns its worker process, the socket to it and
// the shared memory; destroying it kills the worker.  Backends hold it by
// shared_ptr, so calls in flight keep it alive across a reload.
// Threading: every member function is thread-safe.  Calls are serialised:
// one worker serves one call at a time, and concurrent callers wait on a
// mutex (an isolated backend therefore declares itself not re-entrant).
// Errors: start() throws coe::Error with the reason the worker could not
// serve the plugin; call() never throws: a crash, a hang or a worker that
// cannot be started is COE_ERR_INTERNAL with its message.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sys/types.h>

#include "backend.hpp"
#include "coe/coe_plugin.h"

namespace coe::detail {

class IsolatedPlugin final : public RemotePlugin {
public:
    // Starts a worker for `file` with the program `worker`; throws coe::Error
    // saying why when it cannot start or the plugin cannot be loaded there.
    static std::shared_ptr<IsolatedPlugin> start(const std::filesystem::path &worker, const std::filesystem::path &file,
                                                 std::chrono::milliseconds call_timeout);
    ~IsolatedPlugin() override;
    IsolatedPlugin(const IsolatedPlugin &) = delete;
    IsolatedPlugin &operator=(const IsolatedPlugin &) = delete;

    // The plugin's descriptor as the worker described it, owned here.  Its
    // operations' invoke pointers refuse every call (COE_ERR_UNSUPPORTED):
    // calls go through call().  thread_safety is SERIALIZED.
    const coe_plugin_descriptor *descriptor() const override { return &descriptor_; }

    // Runs operation `op_index` (descriptor order) on `args` in the worker;
    // the plugin's message, or what happened to the worker, goes to
    // `message` (NUL-terminated, truncated to `capacity`).  A worker that
    // crashed or was killed is started again here, on the next call when it
    // had answered calls before; when it had not (or could not be started),
    // only after a backoff (50 ms doubling to 5 s, back to 50 ms after a good
    // call), and calls before that fail at once.
    coe_status call(std::uint32_t op_index, void *args, char *message, std::size_t capacity) override;

    // Workers started after the first one (each one after a crash, a hang or
    // a failed start).
    std::uint64_t restarts() const override;
    // The current worker's process id, 0 when none runs.
    pid_t worker_pid() const;

private:
    IsolatedPlugin(std::filesystem::path worker, std::filesystem::path file, std::chrono::milliseconds timeout);
    struct Worker;
    // Starts a worker and reads its description into `lines`; "" or why not.
    std::string launch(std::vector<std::string> &lines);
    void stop_worker();  // kills and reaps the current worker (if any)
    // Ends the worker after a failed call and schedules the next start.
    std::string fail_worker(const std::string &what);
    bool ensure_region(std::size_t bytes, std::string &error);
    void describe(const std::vector<std::string> &lines);

    const std::filesystem::path worker_program_, file_;
    const std::chrono::milliseconds timeout_;

    mutable std::mutex mutex_;  // guards everything below
    std::unique_ptr<Worker> worker_;
    int memory_fd_ = -1;
    std::byte *region_ = nullptr;
    std::size_t region_size_ = 0;
    std::uint64_t starts_ = 0;
    std::chrono::milliseconds backoff_{50};
    std::chrono::steady_clock::time_point next_start_{};
    std::string signature_;  // the operations the first worker listed; a restarted one must list the same

    // the descriptor's storage
    std::vector<std::string> strings_;
    std::vector<coe_operation> operations_;
    std::vector<const coe_operation *> operation_table_;
    coe_plugin_descriptor descriptor_{};
};

}  // namespace coe::detail
