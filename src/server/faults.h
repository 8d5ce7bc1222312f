/* The fault-injection admin API (--fault-admin on; docs/capacity.md, "Changing the rules at
 * runtime"): plain routes that list, add and remove fault rules (kinesis/fault.h) while the server
 * runs, for every account at once, as --fault sets them at start.
 *
 *   GET    /admin/faults        the rules, in order
 *   POST   /admin/faults        adds the rules of the body (the --fault syntax) after the others
 *   DELETE /admin/faults/<id>   removes one rule
 *   DELETE /admin/faults        removes every rule
 *
 * Answers are JSON: {"Rules":[{"Id":..,"Stream":..,"Op":..,"Error":..,"LatencyMs":..,"Rate":..,
 * "Rule":"<spec>"}]} (the rules after the change), or {"message": ...} with 400 (a malformed rule,
 * too many rules) or 404 (no such id). */
#ifndef SL_SERVER_FAULTS_H
#define SL_SERVER_FAULTS_H

#include "front/front.h"
#include "kinesis/fault.h"

/* Applies an edit to the server's rules: calls edit(rules, arg) on a copy and, when it returns 0,
 * makes the copy the rules of every account (and of accounts opened later); returns edit's result.
 * The composition root provides it (it owns the accounts and their lock). */
typedef int (*sl_fault_admin_change_fn)(void *ctx, int (*edit)(sl_kfaults_t *rules, void *arg),
                                        void *arg);

/* Registers the routes on front. change and ctx must outlive the front. */
int sl_fault_admin_register(sl_front_t *front, sl_fault_admin_change_fn change, void *ctx);

/* Gives rules[from..] the next ids (process-wide, from 1; the rules --fault set at start first).
 * Called under the change function's lock, or before the routes exist. */
void sl_fault_admin_number(sl_kfaults_t *rules, size_t from);

#endif
