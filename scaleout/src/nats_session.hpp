// nats_session.hpp - one NATS connection with its JetStream context, the
// two streams made sure of, and NATS errors turned into coe::Error.
// Owns its handles; not copyable.  The connection is thread-safe (the C
// client's own locking); a Worker shares one between its threads.
#pragma once

#include <nats/nats.h>

#include <string>
#include <utility>
#include <vector>

#include "coe/work_queue.hpp"

namespace coe::scaleout_detail {

// Throws coe::Error "<what>: <status text> (<last error>)" unless s is NATS_OK.
void nats_check(natsStatus s, const std::string &what, jsErrCode js_error = static_cast<jsErrCode>(0));

class NatsSession {
public:
    // Connects and creates the streams when they do not exist yet.
    explicit NatsSession(const WorkQueueOptions &queue);
    ~NatsSession();
    NatsSession(const NatsSession &) = delete;
    NatsSession &operator=(const NatsSession &) = delete;

    natsConnection *connection() const { return nc_; }
    jsCtx *js() const { return js_; }
    const WorkQueueOptions &queue() const { return queue_; }

private:
    void ensure_stream(const std::string &name, std::vector<std::string> subjects, bool work_queue);

    WorkQueueOptions queue_;
    natsConnection *nc_ = nullptr;
    jsCtx *js_ = nullptr;
};

// Subjects and message ids.
std::string jobs_subject(JobKind kind, const std::string &batch);
std::string results_subject(const std::string &batch);
std::string manifest_subject(const std::string &batch);
std::string message_id(const std::string &batch, std::size_t index);
const char *kind_name(JobKind kind);

// Publishes `body` to `subject` with Nats-Msg-Id `id` (the stream drops a
// repeat within its duplicate window) and `headers`, and waits until the
// stream has stored it; throws coe::Error naming the id otherwise.
void publish_stored(jsCtx *js, const std::string &subject, const std::string &id, const std::string &body,
                    const std::vector<std::pair<const char *, std::string>> &headers);

// A header's value, or "" when absent.
std::string header(natsMsg *msg, const char *key);

// Owns a natsMsg.
struct MsgPtr {
    natsMsg *msg = nullptr;
    explicit MsgPtr(natsMsg *m = nullptr) : msg(m) {}
    ~MsgPtr() { natsMsg_Destroy(msg); }
    MsgPtr(const MsgPtr &) = delete;
    MsgPtr &operator=(const MsgPtr &) = delete;
};

}  // namespace coe::scaleout_detail
