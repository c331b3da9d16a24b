// Replaces the global operator new and delete with malloc/free that report every allocation, for
// the tests and benchmarks that assert "no heap allocation per exchange".
//
// Include it in exactly ONE .cc of a binary (the replacements are not inline), and define there
//   void zb::test::onAllocation();
// which is called on every operator new, on whatever thread allocates, before the memory is
// taken. Keep it cheap and allocation-free (a thread_local owner and a counter).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace zb::test {

void onAllocation();

namespace detail {

inline void* allocate(std::size_t size, std::size_t alignment) {
  onAllocation();
  return alignment > alignof(std::max_align_t)
             ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
             : std::malloc(size != 0 ? size : 1);
}

}  // namespace detail
}  // namespace zb::test

void* operator new(std::size_t size) {
  if (void* p = zb::test::detail::allocate(size, 0)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* p = zb::test::detail::allocate(size, static_cast<std::size_t>(alignment))) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return operator new(size, alignment);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return zb::test::detail::allocate(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return zb::test::detail::allocate(size, 0);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
