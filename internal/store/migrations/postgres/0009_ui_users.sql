-- Per-user settings of the web UI. language '' means "not chosen": the UI
-- then follows the browser's Accept-Language. Time zones are IANA names;
-- the desk's users are in Japan first.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Asia/Tokyo';
