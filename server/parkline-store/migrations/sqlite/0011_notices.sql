-- Notices for people: entry confirmed, reservation and payment reminders, overstay and no-show alerts.
-- Pushed over the stream when the person is connected, kept here for when they are not. One notice
-- per (user, kind, subject): reminders checked every few seconds are sent once.
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,      -- the reservation or session it is about
    body        TEXT NOT NULL,      -- the sentence shown to the person
    created_ms  INTEGER NOT NULL,
    UNIQUE (user_id, kind, subject)
);
