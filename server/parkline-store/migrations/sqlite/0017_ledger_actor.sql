-- Whose money an entry is (user_id) and who made it (actor_id) are two things: a refund a manager makes
-- goes back to the driver who paid. Entries made before name no actor.
ALTER TABLE ledger ADD COLUMN actor_id BIGINT;
