// A map from request ids to values, for the requests in flight: integer ids
// (what editors send) live in one flat open-addressed array, so a pipelined
// request costs no node allocation and no string hashing; any other id in a
// hash map by its key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "leanproxy/protocol/message.hpp"

namespace leanproxy::protocol {

/// Invariant (linear probing): every entry sits at its home slot or after it
/// with no empty slot between; erasing shifts later entries back to keep it.
template <class V>
class IdTable {
 public:
  /// The value for `id`, default-constructed if absent (`fresh` then true).
  V& emplace(const Id& id, bool& fresh) {
    if (auto n = id.integer()) {
      if ((ints_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? kMinSlots : slots_.size() * 2);
      std::size_t i = home(*n);
      for (; slots_[i].value; i = next(i))
        if (slots_[i].key == *n) {
          fresh = false;
          return *slots_[i].value;
        }
      slots_[i].key = *n;
      ++ints_;
      fresh = true;
      return slots_[i].value.emplace();
    }
    auto [it, inserted] = others_.try_emplace(id.key());
    fresh = inserted;
    return it->second;
  }

  V* find(const Id& id) {
    if (auto n = id.integer()) {
      std::size_t i = slot_of(*n);
      return i == npos ? nullptr : &*slots_[i].value;
    }
    auto it = others_.find(id.key());
    return it == others_.end() ? nullptr : &it->second;
  }

  /// Removes `id`'s entry; false if there was none.
  bool erase(const Id& id) {
    if (auto n = id.integer()) {
      std::size_t i = slot_of(*n);
      if (i == npos) return false;
      erase_slot(i);
      shrink();
      return true;
    }
    return others_.erase(id.key()) > 0;
  }

  std::size_t size() const { return ints_ + others_.size(); }
  /// Slots of the integer array (its memory; for tests).
  std::size_t slots() const { return slots_.size(); }

  /// Calls `fn(value)` for each entry (in no set order); removes those for
  /// which it returns true.
  template <class Fn>
  void erase_if(Fn fn) {
    std::vector<std::int64_t> gone;  // collected first: erasing shifts entries
    for (auto& s : slots_)
      if (s.value && fn(*s.value)) gone.push_back(s.key);
    for (auto n : gone) erase_slot(slot_of(n));
    shrink();
    std::erase_if(others_, [&](auto& kv) { return fn(kv.second); });
  }

  /// The first value (in no set order) for which `pred` holds, or nullptr.
  template <class Pred>
  V* find_if(Pred pred) {
    for (auto& s : slots_)
      if (s.value && pred(*s.value)) return &*s.value;
    for (auto& [key, value] : others_)
      if (pred(value)) return &value;
    return nullptr;
  }

 private:
  struct Slot {
    std::int64_t key = 0;
    std::optional<V> value;  ///< empty: a free slot
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t kMinSlots = 64;

  // Fibonacci hashing: ids that share low bits (a client counting in steps
  // of 1 024) still spread over the table.
  std::size_t home(std::int64_t n) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  std::size_t slot_of(std::int64_t n) const {
    if (slots_.empty()) return npos;
    for (std::size_t i = home(n); slots_[i].value; i = next(i))
      if (slots_[i].key == n) return i;
    return npos;
  }

  void erase_slot(std::size_t hole) {
    // Backward shift: an entry after the hole moves into it unless its home
    // lies cyclically in (hole, j], where it would be found without passing the hole.
    for (std::size_t j = next(hole); slots_[j].value; j = next(j)) {
      std::size_t h = home(slots_[j].key);
      bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole].key = slots_[j].key;
      slots_[hole].value = std::move(slots_[j].value);
      hole = j;
    }
    slots_[hole].value.reset();
    --ints_;
  }

  // A burst of thousands in flight (an agent pipelining) must not keep its
  // table for the session's life: below 1/8 full it halves (to 1/4 full,
  // well short of the 1/2 that doubles it again).
  void shrink() {
    if (slots_.size() > kMinSlots && ints_ * 8 < slots_.size()) rehash(slots_.size() / 2);
  }

  void rehash(std::size_t size) {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(size));
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(size));
    for (auto& s : old) {
      if (!s.value) continue;
      std::size_t i = home(s.key);
      while (slots_[i].value) i = next(i);
      slots_[i].key = s.key;
      slots_[i].value = std::move(s.value);
    }
  }

  std::vector<Slot> slots_;  ///< empty, or a power of two (at least kMinSlots), at most half full
  unsigned shift_ = 64;
  std::size_t ints_ = 0;
  std::unordered_map<std::string, V> others_;  ///< string ids and integers beyond int64, by Id::key()
};

}  // namespace leanproxy::protocol
