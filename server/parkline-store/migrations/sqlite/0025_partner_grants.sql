-- Partners' grants: a stay that began on a partner's grant is billed to that partner (the API key it
-- holds), and a partner's own webhook endpoints hear only the stays of its grants.
ALTER TABLE sessions ADD COLUMN partner_key_id INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN partner_key_id INTEGER;
