-- Anthropic channels: forward http(s) image URLs as `url` sources instead of downloading and inlining them.
ALTER TABLE channels ADD COLUMN forward_image_urls SMALLINT NOT NULL DEFAULT 0;
