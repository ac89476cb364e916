-- depends: 0004_gmail_threads
-- 0007_gmail_history: how far the reply poller has read each Gmail mailbox's history.

-- Owner: consumers/providers/gmail/mailbox_history.py
-- Per Gmail sender account: the last `historyId` whose changes were handled. The next poll asks
-- `users.history.list` from there; a missing row (a new mailbox) or an expired id (Gmail answers
-- 404) makes the poller scan the recent messages and start again from the profile's historyId.
CREATE TABLE IF NOT EXISTS gmail_history (
    sender_account_id uuid PRIMARY KEY,
    history_id text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
