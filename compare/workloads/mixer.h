// The random-mixed loop, shared by random-mixed and soak.
//
// A fixed array of slots; each operation picks a random slot: an occupied slot is freed,
// an empty one gets a new block of random size in [min_size, max_size] whose every page is
// written. With an outbox, one free in `cross_one_in` is handed to another thread instead
// (which frees it); the inbox holds the blocks other threads handed to this one.
// Handing over waits when the mailbox is full, so the share of crossing frees is exact.
#pragma once

#include <sched.h>

#include <cstdlib>

#include "common.h"

namespace cmp {

using Mailbox = SpscRing<4096>;

struct MixerConfig {
  uint64_t slots = 400;
  uint64_t min_size = 16;
  uint64_t max_size = 1024;
  uint64_t cross_one_in = 8;  // 0: never cross
};

class Mixer {
 public:
  Mixer() = default;
  ~Mixer() { unmap_anonymous(slots_, config_.slots * sizeof(Slot)); }
  Mixer(const Mixer&) = delete;
  Mixer& operator=(const Mixer&) = delete;

  void init(const MixerConfig& config, uint64_t seed, Mailbox* outbox, Mailbox* inbox) {
    if (config.slots == 0 || config.min_size == 0 || config.min_size > config.max_size)
      die("need slots > 0 and 0 < min-size <= max-size");
    config_ = config;
    rng_ = Rng(seed);
    outbox_ = outbox;
    inbox_ = inbox;
    slots_ = static_cast<Slot*>(map_anonymous(config.slots * sizeof(Slot)));
  }

  void run(uint64_t ops) {
    for (uint64_t i = 0; i < ops; ++i) {
      if (inbox_ && (i & 63) == 0) drain_inbox();
      step();
    }
  }

  void drain_inbox() {
    if (!inbox_) return;
    void* p;
    while (inbox_->pop(&p)) free(p);
  }

  void release_all() {
    for (uint64_t i = 0; i < config_.slots; ++i) {
      free(slots_[i].block);
      slots_[i].block = nullptr;
    }
  }

  uint64_t crossed() const { return crossed_; }
  uint64_t cross_waits() const { return cross_waits_; }

 private:
  struct Slot {
    void* block;
    uint32_t size;
    uint8_t tag;
  };

  MixerConfig config_;
  Rng rng_{0};
  Mailbox* outbox_ = nullptr;
  Mailbox* inbox_ = nullptr;
  Slot* slots_ = nullptr;
  uint64_t steps_ = 0;
  uint64_t crossed_ = 0;
  uint64_t cross_waits_ = 0;

  void step() {
    Slot& slot = slots_[rng_.below(config_.slots)];
    if (slot.block)
      release(slot);
    else
      fill(slot);
    ++steps_;
  }

  void fill(Slot& slot) {
    slot.size = static_cast<uint32_t>(rng_.between(config_.min_size, config_.max_size));
    slot.tag = static_cast<uint8_t>(steps_ | 1);
    slot.block = checked_malloc(slot.size);
    fill_block(slot.block, slot.size, slot.tag);
  }

  void release(Slot& slot) {
    if (!check_block(slot.block, slot.size, slot.tag)) die("block %p (%u bytes) was corrupted", slot.block, slot.size);
    if (outbox_ && rng_.below(config_.cross_one_in) == 0)
      hand_over(slot.block);
    else
      free(slot.block);
    slot.block = nullptr;
  }

  // Waits while the next thread's mailbox is full, draining our own meanwhile so that a
  // ring of waiting threads always makes progress.
  void hand_over(void* block) {
    while (!outbox_->push(block)) {
      ++cross_waits_;
      drain_inbox();
      sched_yield();
    }
    ++crossed_;
  }
};

}  // namespace cmp
