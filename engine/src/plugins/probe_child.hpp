// probe_child.hpp - runs the plugin probe helper as a child process and
// reads what it reports, under a timeout per phase.
//
// The child writes lines to file descriptor 3 (its stdin, stdout and stderr
// are /dev/null, so a plugin's own output never mixes in):
//   "phase <name>"   it begins a phase ("load", "entry", "coe.similarity");
//                    the timeout starts again
//   anything else    a result line, kept in `lines` for the caller
// The child runs in a process group of its own; on timeout the whole group
// is killed.  Thread-safe: each call has its own pipe and child.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace coe::detail {

struct ChildOutcome {
    enum class End {
        exited,       // `code` is the exit status
        signalled,    // `code` is the signal
        timed_out,    // killed after a phase ran past the timeout
        not_started,  // `error` says why
    };
    End end = End::not_started;
    int code = 0;
    std::string phase;               // the last phase announced ("" before the first)
    std::vector<std::string> lines;  // result lines, in order
    std::string error;
};

ChildOutcome run_probe_child(const std::filesystem::path &program, const std::vector<std::string> &args,
                             std::chrono::milliseconds phase_timeout);

// "5 s", "1.5 s", "250 ms".
std::string describe_duration(std::chrono::milliseconds d);

// What the end of a child says, for a reason: "terminated the process with
// status 0", "crashed with signal 11 (Segmentation fault)", "timed out after
// 5 s"; the caller knows whether an exit was the end it expected.
std::string describe_end(const ChildOutcome &outcome, std::chrono::milliseconds phase_timeout);

}  // namespace coe::detail
