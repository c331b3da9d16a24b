#include "stream_port.h"

#include <new>

namespace zb::kafka_grpc {

int32_t StreamPort::open(const sdk::Extension& ext) {
  const int32_t result = doBegin(ext);
  if (result != ZB_OK) {
    // A refused stream is never released by the host: it goes back to the pool here.
    listener_ = nullptr;
    pool_.destroy(this);
  }
  return result;
}

void StreamPort::cancel(const sdk::Extension& abort_ext, const sdk::Extension& reset_ext) {
  listener_ = nullptr;
  doCloseAll(abort_ext, reset_ext);
}

void StreamPort::onRelease() {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    PortListener* listener = listener_;
    listener_ = nullptr;
    listener->onPortReleased(*this);
  }
  pool_.destroy(this);
}

// A detached port answers every frame by closing what is still open, so that the host can
// release it; credit frames need no answer.
void StreamPort::windDown() {
  if (!writeClosed() && writeOpened()) {
    doAbort();
  }
  if (!readClosed()) {
    doReset();
  }
}

void StreamPort::onBegin(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortBegin(*this, frame);
  } else {
    windDown();
  }
}

void StreamPort::onData(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortData(*this, frame);
  } else {
    windDown();
  }
}

void StreamPort::onFlush(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  // What a FLUSH says is out of band: the credit it takes (if any) is returned at once.
  if (frame.reserved > 0 && in().consume(frame.reserved) && !readClosed()) {
    doWindow();
  }
  if (listener_ != nullptr) {
    listener_->onPortFlush(*this, frame);
  }
}

void StreamPort::onEnd(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortEnd(*this, frame);
  } else {
    windDown();
  }
}

void StreamPort::onAbort(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortAbort(*this, frame);
  } else {
    windDown();
  }
}

void StreamPort::onWindow(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortWindow(*this, frame);
  }
}

void StreamPort::onReset(const zb_frame_t& frame) {
  EntryGuard guard(pool_.scope());
  if (listener_ != nullptr) {
    listener_->onPortReset(*this, frame);
  } else {
    windDown();
  }
}

PortPool::~PortPool() {
  for (void* slot : all_) {
    ::operator delete(slot, std::align_val_t(alignof(StreamPort)));
  }
}

StreamPort* PortPool::create(const sdk::Host& host, uint64_t origin_id, uint64_t routed_id,
                             PortListener* listener) {
  void* slot = nullptr;
  if (free_.empty()) {
    slot = ::operator new(sizeof(StreamPort), std::align_val_t(alignof(StreamPort)));
    all_.push_back(slot);
    free_.reserve(all_.capacity());
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  ++live_;
  return new (slot) StreamPort(*this, host, origin_id, routed_id, listener);
}

void PortPool::destroy(StreamPort* port) {
  port->~StreamPort();
  free_.push_back(port);
  --live_;
}

}  // namespace zb::kafka_grpc
