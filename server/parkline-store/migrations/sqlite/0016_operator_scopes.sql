-- Webhook endpoints and permit pools belong to an operator: an endpoint hears only its operator's
-- facilities' events, and a pool's limit is set only by its operator. Those made before belong to
-- `default`, like everything else made before operators.
ALTER TABLE webhook_endpoints ADD COLUMN operator_id TEXT NOT NULL DEFAULT 'default';
ALTER TABLE permit_pools ADD COLUMN operator_id TEXT NOT NULL DEFAULT 'default';

-- An opening a kiosk asks for on behalf of the attendant at its lane: which kiosk, and who they said
-- they were (the kiosk has no person signed in).
ALTER TABLE gate_overrides ADD COLUMN device_id INTEGER;
ALTER TABLE gate_overrides ADD COLUMN attendant TEXT;
