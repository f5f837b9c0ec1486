#include "core/budget_account.h"

namespace hakmem::budget {

Account g_account;
decommit::BudgetConfig g_config;

}  // namespace hakmem::budget
