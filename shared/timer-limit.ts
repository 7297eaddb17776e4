/**
 * The longest delay a Node timer runs (2^31-1 ms, 24.8 days). A longer one
 * fires after 1 ms, with a TimeoutOverflowWarning: a 30-day timeout would
 * have been an instant one.
 */
export const MAX_TIMER_MS = 2_147_483_647;
