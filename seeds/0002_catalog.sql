-- Catalog of guide §2D: 6 interests (the guide's fixed UUIDs among them), 6 categories,
-- 6 interest→category mappings, 6 candidates. Fixed UUIDs so tests and the guide's SQL can name them.
INSERT INTO public.interest_catalog (id, name, description) VALUES
  ('11111111-1111-1111-1111-111111111111', 'Hiking',      'Trails, gear and outdoor trips'),
  ('22222222-2222-2222-2222-222222222222', 'Photography', 'Cameras, lenses and editing'),
  ('33333333-3333-3333-3333-333333333333', 'Cooking',     'Recipes, kitchenware and ingredients'),
  ('44444444-4444-4444-4444-444444444444', 'Music',       'Instruments, records and lessons'),
  ('55555555-5555-5555-5555-555555555555', 'Gaming',      'Consoles, games and accessories'),
  ('66666666-6666-6666-6666-666666666666', 'Travel',      'Luggage, guides and experiences')
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.marketplace_categories (id, name) VALUES
  ('c0000000-0000-0000-0000-000000000001', 'Outdoor Gear'),
  ('c0000000-0000-0000-0000-000000000002', 'Cameras'),
  ('c0000000-0000-0000-0000-000000000003', 'Kitchen'),
  ('c0000000-0000-0000-0000-000000000004', 'Instruments'),
  ('c0000000-0000-0000-0000-000000000005', 'Games'),
  ('c0000000-0000-0000-0000-000000000006', 'Luggage')
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.marketplace_interest_map (interest_id, category_id, weight) VALUES
  ('11111111-1111-1111-1111-111111111111', 'c0000000-0000-0000-0000-000000000001', 1),
  ('22222222-2222-2222-2222-222222222222', 'c0000000-0000-0000-0000-000000000002', 1),
  ('33333333-3333-3333-3333-333333333333', 'c0000000-0000-0000-0000-000000000003', 1),
  ('44444444-4444-4444-4444-444444444444', 'c0000000-0000-0000-0000-000000000004', 1),
  ('55555555-5555-5555-5555-555555555555', 'c0000000-0000-0000-0000-000000000005', 1),
  ('66666666-6666-6666-6666-666666666666', 'c0000000-0000-0000-0000-000000000006', 1)
ON CONFLICT (interest_id, category_id) DO NOTHING;

INSERT INTO public.marketplace_candidates (id, category_id, title, url, score) VALUES
  ('d0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000001', 'Ultralight trail backpack', 'https://example.com/c/1', 0.92),
  ('d0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000002', 'Mirrorless starter kit',    'https://example.com/c/2', 0.85),
  ('d0000000-0000-0000-0000-000000000003', 'c0000000-0000-0000-0000-000000000003', 'Cast-iron skillet',         'https://example.com/c/3', 0.78),
  ('d0000000-0000-0000-0000-000000000004', 'c0000000-0000-0000-0000-000000000004', 'Travel acoustic guitar',    'https://example.com/c/4', 0.71),
  ('d0000000-0000-0000-0000-000000000005', 'c0000000-0000-0000-0000-000000000005', 'Wireless controller',       'https://example.com/c/5', 0.66),
  ('d0000000-0000-0000-0000-000000000006', 'c0000000-0000-0000-0000-000000000006', 'Carry-on spinner',          'https://example.com/c/6', 0.60)
ON CONFLICT (id) DO NOTHING;
