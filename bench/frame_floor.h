// The ABI/engine floor: frames bounced between two trivial bindings through the real engine.
//
// An initiator (driven from outside, like a peer) opens streams to an acceptor whose hooks answer
// at once: BEGIN with the reply BEGIN, DATA with a WINDOW, END with the reply END. A round opens
// and closes a given number of streams and delivers a given number of frames in all, so it costs
// what the engine and the ABI cost for an exchange's frames, with no work in the bindings.
//
// Thread: the engine thread (the benchmark's thread).
#pragma once

#include <zb/runtime/engine.h>

#include <cstdint>
#include <string>

namespace zb::bench {

class FrameFloor {
 public:
  FrameFloor();
  ~FrameFloor();
  FrameFloor(const FrameFloor&) = delete;
  FrameFloor& operator=(const FrameFloor&) = delete;

  // Creates the engine and the two bindings. False with `error`.
  bool start(std::string& error);

  // Opens and closes `streams` streams, delivering `frames` frames in all (at least 4 per
  // stream). False when the engine refused a frame.
  bool round(int streams, int frames);

 private:
  class QuietLog : public runtime::LogSink {
   public:
    void write(zb_log_level, std::string_view, std::string_view) override {}
  };

  QuietLog log_;
  runtime::Engine engine_;
  uint64_t acceptor_id_ = 0;
};

}  // namespace zb::bench
