#include "stoa/trace/log_context.hpp"

namespace stoa::trace {
namespace {

thread_local const LogContext* t_current = nullptr;

}  // namespace

const LogContext* current_log_context() { return t_current; }

ScopedLogContext::ScopedLogContext(const LogContext& context) : m_previous(t_current) {
  t_current = &context;
}

ScopedLogContext::~ScopedLogContext() { t_current = m_previous; }

}  // namespace stoa::trace
