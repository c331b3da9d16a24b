#include "config_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace zb::host {

ConfigWatcher::ConfigWatcher(const std::string& path, std::function<void()> on_change)
    : on_change_(std::move(on_change)) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  const std::filesystem::path file = ec ? std::filesystem::path(path) : absolute;
  folder_ = file.parent_path().string();
  names_.push_back(file.filename().string());
  // A ConfigMap's file is a symlink into `..data`, itself a symlink the update renames over.
  const std::filesystem::path target = std::filesystem::read_symlink(file, ec);
  if (!ec && target.is_relative() && !target.empty()) {
    names_.push_back(target.begin()->string());
  }
  if (folder_.empty()) {
    folder_.push_back('.');  // (an assignment from "." trips GCC 12's -Wrestrict)
  }
  inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) {
    error_.append("inotify: ").append(std::strerror(errno));
    return;
  }
  // Writes in place once the writer closes the file (not each write: a file being written is
  // half a config), renames and links into the folder (editors' saves, the ConfigMap `..data`
  // swap), deletions, and a changed mode or owner.
  watch_ = inotify_add_watch(
      inotify_fd_, folder_.c_str(),
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB);
  if (watch_ < 0) {
    error_.append("inotify on ").append(folder_).append(": ").append(std::strerror(errno));
    return;
  }
  watcher_ = std::make_unique<FdWatchThread>(inotify_fd_, [this] { readEvents(); });
  if (!watcher_->ok()) {
    error_.append("eventfd: ").append(std::strerror(errno));
    watch_ = -1;
  }
}

ConfigWatcher::~ConfigWatcher() {
  watcher_.reset();
  if (inotify_fd_ >= 0) close(inotify_fd_);
}

void ConfigWatcher::readEvents() {
  // Takes every event queued so far, then looks at the file once for all of them. Events of
  // other files in the folder are ignored: the config may be half written when they come.
  alignas(inotify_event) char buffer[16384];
  bool ours = false;
  ssize_t length;
  while ((length = read(inotify_fd_, buffer, sizeof buffer)) > 0) {
    for (ssize_t at = 0; at < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      const std::string_view name = event->len > 0 ? std::string_view(event->name) : "";
      ours = ours || std::find(names_.begin(), names_.end(), name) != names_.end();
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  if (ours) {
    on_change_();
  }
}

}  // namespace zb::host
