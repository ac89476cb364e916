-- depends: 0002_read_side
-- 0004_gmail_threads: what the Gmail adapter remembers so follow-ups thread and nothing goes twice.

-- Owner: consumers/providers/gmail/conversation_threads.py
-- Per enrollment (campaign x contact) and mailbox: the Gmail thread its mail went out in, and the
-- Message-IDs sent so far (oldest first, space-separated), which the next follow-up names in
-- In-Reply-To (the last) and References (all).
CREATE TABLE IF NOT EXISTS gmail_threads (
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    sender_account_id uuid NOT NULL,
    thread_id text NOT NULL,
    message_ids text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, contact_id, sender_account_id)
);

-- Owner: consumers/providers/gmail/send_attempts.py
-- Every mailbox a message was handed to, with the Message-ID it carried, written before the call:
-- after an ambiguous failure (a 5xx, a timeout, a lost answer) the adapter searches those
-- mailboxes for that Message-ID instead of sending again.
CREATE TABLE IF NOT EXISTS gmail_send_attempts (
    message_key text NOT NULL,
    sender_account_id uuid NOT NULL,
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    rfc822_message_id text NOT NULL,
    gmail_message_id text,
    first_tried_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_key, sender_account_id)
);
