//! Properties of the flow model's codecs, over the strategies of [`super::strategies`].

use proptest::collection::vec;
use proptest::prelude::*;

use super::strategies::*;
use super::*;

fn verbose() -> FormatOptions<'static> {
    FormatOptions::verbose()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn key_attrs_netlink_round_trip(attrs in key_attrs_any()) {
        let raw = encode_key_attrs(&attrs).unwrap();
        prop_assert_eq!(decode_key_attrs(&raw).unwrap(), attrs);
    }

    #[test]
    fn actions_netlink_round_trip(actions in actions_any()) {
        let raw = encode_actions(&actions).unwrap();
        prop_assert_eq!(decode_actions(&raw).unwrap(), actions);
    }

    #[test]
    fn decode_returns_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let _ = decode_key_attrs(&bytes);
        let _ = decode_actions(&bytes);
    }

    #[test]
    fn decode_returns_on_damaged_encodings(
        actions in actions_any(),
        attrs in key_attrs_any(),
        hits in vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        for mut raw in [encode_actions(&actions).unwrap(), encode_key_attrs(&attrs).unwrap()] {
            if raw.is_empty() {
                continue;
            }
            for (i, b) in &hits {
                let n = raw.len();
                raw[i % n] = *b;
            }
            let _ = decode_key_attrs(&raw);
            let _ = decode_actions(&raw);
            let n = raw.len();
            raw.truncate(cut % n);
            let _ = decode_key_attrs(&raw);
            let _ = decode_actions(&raw);
        }
    }

    #[test]
    fn flow_key_through_attrs_is_perfect((key, mask) in flow_key_and_mask()) {
        for m in [None, Some(&mask)] {
            let attrs = key_to_attrs(&key, m);
            let (back, fitness) = attrs_to_key(&attrs).unwrap();
            prop_assert_eq!(fitness, Fitness::Perfect);
            prop_assert_eq!(back, key);
            // Through netlink bytes too.
            let raw = encode_key_attrs(&attrs).unwrap();
            prop_assert_eq!(decode_key_attrs(&raw).unwrap(), attrs);
        }
        let mattrs = mask_to_attrs(&mask, &key);
        prop_assert_eq!(attrs_to_mask(&mattrs, &key).unwrap(), mask);
    }

    #[test]
    fn flow_text_round_trip((key, mask) in flow_key_and_mask()) {
        // OVS's text cannot say the mask of an 802.3 frame inside a VLAN tag (`encap()` of
        // an empty key prints nothing of its mask).
        prop_assume!(!(key.vlans[0].present() && key.eth_type < eth_type::MIN));
        let mask = text_safe_mask(&key, &mask);
        let text = format_flow(&key, Some(&mask), &verbose());
        let (k, m, fitness) = parse_flow(&text, &ParseOptions::default()).unwrap();
        prop_assert_eq!(fitness, Fitness::Perfect, "{}", text);
        prop_assert_eq!(k, key, "{}", text);
        prop_assert_eq!(m, mask, "{}", text);
    }

    #[test]
    fn key_attrs_text_round_trip(attrs in vec(key_attr_text(), 0..10)) {
        let text = KeyAttrs(attrs.clone()).to_string();
        prop_assert_eq!(text.parse::<KeyAttrs>().unwrap().0, attrs, "{}", text);
    }

    #[test]
    fn masked_key_text_round_trip(mk in masked_key_text()) {
        let text = format!("{mk:#}");
        prop_assert_eq!(&text.parse::<MaskedKey>().unwrap(), &mk, "{}", text);
    }

    #[test]
    fn actions_text_round_trip(actions in actions_text()) {
        let text = Actions(actions.clone()).to_string();
        prop_assert_eq!(text.parse::<Actions>().unwrap().0, actions, "{}", text);
    }

    #[test]
    fn text_parsers_return_on_arbitrary_text(s in "[a-z0-9_(),=/:.+|x -]{0,80}") {
        let _ = s.parse::<MaskedKey>();
        let _ = s.parse::<Actions>();
    }

    #[test]
    fn text_parsers_return_on_damaged_text(
        actions in actions_text(),
        mk in masked_key_text(),
        cut in any::<usize>(),
        ins in any::<(usize, char)>(),
    ) {
        for text in [Actions(actions).to_string(), format!("{mk:#}")] {
            let mut chars: Vec<char> = text.chars().collect();
            let n = chars.len().max(1);
            chars.truncate(cut % n);
            let cut_text: String = chars.iter().collect();
            let _ = cut_text.parse::<MaskedKey>();
            let _ = cut_text.parse::<Actions>();
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(ins.0 % (chars.len() + 1), ins.1);
            let ins_text: String = chars.iter().collect();
            let _ = ins_text.parse::<MaskedKey>();
            let _ = ins_text.parse::<Actions>();
        }
    }
}
