/*
 * Which sanitizer this translation unit is built with: GNET__TSAN,
 * GNET__ASAN. gcc says so with __SANITIZE_*__, clang with __has_feature.
 * In the lowest layer so that every layer can ask. Not a public header.
 */
#ifndef GNET_MAILBOX_SANITIZER_H
#define GNET_MAILBOX_SANITIZER_H

#if defined(__SANITIZE_THREAD__)
#define GNET__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GNET__TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define GNET__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GNET__ASAN 1
#endif
#endif

#endif
