// The alert history the admin API and `npm run alerts` show: episodes by state, newest first.
import type { Db } from '../db/sql';
import { listAlertRows } from './queries';

export type AlertFilter = 'open' | 'all' | 'pending' | 'firing' | 'resolved' | 'cancelled';

const STATES: Record<'open' | 'all', readonly string[]> = {
  open: ['pending', 'firing'],
  all: ['pending', 'firing', 'resolved', 'cancelled'],
};

export function listAlerts(db: Db, filter: AlertFilter, limit: number) {
  return listAlertRows(db, filter === 'open' || filter === 'all' ? STATES[filter] : [filter], limit);
}
