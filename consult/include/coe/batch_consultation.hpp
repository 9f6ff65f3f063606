// batch_consultation.hpp - many questions through one circle: the lines of
// a questions file, a few consultations at a time, results in input order,
// an output file that survives a crash and can be resumed.  What
// `coe consult --batch`, the NATS worker and hosts share.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "coe/consult.hpp"

namespace coe {

// One question of a batch, read from one JSON Lines line:
//   {"id"?: string | integer, "question": string,
//    or "title" and/or "content" (joined by a blank line),
//    "experts"?: [names]}
struct BatchQuestion {
    std::size_t line = 0;              // 1-based line of the input
    std::string id;                    // "line-<line>" when the line gives none
    std::string text;                  // what the experts are asked
    std::vector<std::string> experts;  // empty: the circle's every expert
    std::string error;                 // why the line cannot be asked; empty when it can
};

// Reads one line; never throws: a line that cannot be asked comes back with
// `error` set (without a location: the caller knows where the line is from).
BatchQuestion parse_batch_question(std::string_view line_text, std::size_t line);

// The ConsultOptions for `question`: `base` with its id and experts.
ConsultOptions batch_question_options(const BatchQuestion &question, ConsultOptions base);

// Every non-blank line of `file`; a bad line, or one whose id repeats an
// earlier line's, has `error` = "<file>:<line>: <why>".  Throws coe::Error
// when the file cannot be opened.
std::vector<BatchQuestion> read_batch_questions(const std::string &file);

// The JSON line of a question that failed: {"line": N, "error": "..."}.
std::string batch_error_line(const BatchQuestion &question);

struct BatchOptions {
    ConsultOptions consult;    // for every question (id and experts come from its line)
    unsigned concurrency = 4;  // consultations at once (at least 1)
    // Results file.  Each result is appended and flushed as soon as it is
    // complete, so a crash loses nothing already received; when the batch
    // ends, the file is rewritten in input order and replaced atomically
    // (<output>.tmp, then rename).  Empty: no file.
    std::string output;
    // Skip the questions whose ids `output` already answers (a line with the
    // id and no "error"); their lines are kept.  Without it `output` starts
    // empty.
    bool resume = false;
    // Polled while the batch runs: once true, no question is started, the
    // consultations still out are cancelled (and asked again by a resumed
    // run), and run_batch returns.  May be set from a signal handler.
    const std::atomic<bool> *stop = nullptr;
    // Called on the calling thread, in input order, with each question's
    // result line (a consultation's JSON, or batch_error_line) as soon as it
    // and every earlier one are known.
    std::function<void(const std::string &line)> on_result;
    // Called on the calling thread after each finished question.
    std::function<void(std::size_t finished, std::size_t total)> on_progress;
    // Messages for the user (bad lines, resumed answers, dropped lines of an
    // interrupted output file), on the calling thread.
    std::function<void(const std::string &message)> on_notice;
};

struct BatchSummary {
    std::size_t total = 0;     // questions in the batch
    std::size_t finished = 0;  // with a result line (resumed ones included)
    std::size_t resumed = 0;   // answered by an earlier run's output
    std::size_t failed = 0;    // bad lines, errors and missed quorums
    bool interrupted = false;  // options.stop ended it early
};

// Runs the batch on `circle` and returns when every question has a result
// or options.stop was set.  Blocks the calling thread; must not be called
// from the circle's network thread.  Throws coe::Error when the output file
// cannot be read, written or replaced.
BatchSummary run_batch(Circle &circle, std::vector<BatchQuestion> questions, const BatchOptions &options);

}  // namespace coe
