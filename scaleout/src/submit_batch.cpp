// submit_batch: the manifest, then one job per line, each stored before the next.
#include <unistd.h>

#include <chrono>
#include <random>

#include <boost/json.hpp>

#include "coe/error.hpp"
#include "nats_session.hpp"
#include "coe/json_text.hpp"

namespace coe {

using namespace scaleout_detail;

namespace {

std::string new_batch_id() {
    std::random_device rd;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    char buf[64];
    std::snprintf(buf, sizeof buf, "b%llx-%x-%08x",
                  static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()),
                  static_cast<unsigned>(::getpid()), rd());
    return buf;
}

void check_batch_id(const std::string &batch) {
    if (batch.empty() || batch.size() > 128) throw Error("batch id '" + batch + "': 1 to 128 characters");
    for (char c : batch)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            throw Error("batch id '" + batch + "': only letters, digits, '-' and '_'");
}

}  // namespace

std::string submit_batch(const WorkQueueOptions &queue, JobKind kind, const std::vector<JobLine> &lines,
                         std::string batch) {
    if (batch.empty()) batch = new_batch_id();
    check_batch_id(batch);
    if (lines.empty()) throw Error("batch " + batch + ": nothing to submit");
    NatsSession session(queue);
    const boost::json::object manifest{{"count", lines.size()}, {"kind", kind_name(kind)}};
    publish_stored(session.js(), manifest_subject(batch), batch + ".manifest", coe::json_text(manifest), {});
    for (std::size_t i = 0; i < lines.size(); ++i)
        publish_stored(
            session.js(), jobs_subject(kind, batch), message_id(batch, i), lines[i].text,
            {{"Coe-Batch", batch}, {"Coe-Index", std::to_string(i)}, {"Coe-Line", std::to_string(lines[i].line)}});
    return batch;
}

}  // namespace coe
