// SPDX-License-Identifier: Apache-2.0
// Parses the core's input packets (header, length, payload) into indexed payload writes.

`default_nettype none

module neural_pkt_rx (
  input  wire logic        clk_i,
  input  wire logic        rst_i,         // synchronous, active high
  input  wire logic        block_i,       // refuse new packets (the core is busy)
  // AXI4-Stream slave
  input  wire logic [31:0] s_axis_tdata,
  input  wire logic        s_axis_tvalid,
  output logic             s_axis_tready,
  input  wire logic        s_axis_tlast,
  // Payload words, in order; pl_index_o counts from 0 within the packet
  output logic             pl_valid_o,
  output logic      [7:0]  pl_kind_o,
  output logic      [15:0] pl_target_o,
  output logic      [31:0] pl_len_o,
  output logic      [31:0] pl_index_o,
  output logic      [31:0] pl_data_o,
  // Packet outcome: a pulse when a packet ends, good or bad
  output logic             pkt_done_o,
  output logic             pkt_ok_o,
  output logic      [3:0]  pkt_err_o      // error code when !pkt_ok_o (see docs/architecture.md)
);

  localparam logic [7:0] Magic = 8'hA5;
  localparam logic [7:0] KindMax = 8'd6;

  localparam logic [3:0] ErrMagic = 4'd1;
  localparam logic [3:0] ErrKind  = 4'd2;
  localparam logic [3:0] ErrShort = 4'd3;
  localparam logic [3:0] ErrLong  = 4'd4;
  localparam logic [3:0] ErrBusy  = 4'd6;

  typedef enum logic [1:0] {
    SHeader,
    SLength,
    SPayload,
    SDrain    // after an error: drop words up to and including tlast
  } state_e;

  state_e      state_q;
  logic [7:0]  kind_q;
  logic [15:0] target_q;
  logic [31:0] len_q, idx_q;
  logic [3:0]  err_q;

  logic beat;
  assign s_axis_tready = 1'b1;  // every store takes one word per cycle
  assign beat = s_axis_tvalid;

  logic [7:0] hdr_magic, hdr_kind;
  assign hdr_magic = s_axis_tdata[31:24];
  assign hdr_kind  = s_axis_tdata[23:16];

  always_ff @(posedge clk_i) begin
    pkt_done_o <= 1'b0;
    pkt_ok_o   <= 1'b0;
    if (rst_i) begin
      state_q   <= SHeader;
      pkt_err_o <= '0;
    end else if (beat) begin
      case (state_q)
        SHeader: begin
          kind_q   <= hdr_kind;
          target_q <= s_axis_tdata[15:0];
          if (hdr_magic != Magic || hdr_kind == 8'd0 || hdr_kind > KindMax || block_i) begin
            err_q <= (hdr_magic != Magic) ? ErrMagic :
                     (hdr_kind == 8'd0 || hdr_kind > KindMax) ? ErrKind : ErrBusy;
            if (s_axis_tlast) begin
              pkt_done_o <= 1'b1;
              pkt_err_o  <= (hdr_magic != Magic) ? ErrMagic :
                            (hdr_kind == 8'd0 || hdr_kind > KindMax) ? ErrKind : ErrBusy;
            end else begin
              state_q <= SDrain;
            end
          end else if (s_axis_tlast) begin
            pkt_done_o <= 1'b1;
            pkt_err_o  <= ErrShort;
          end else begin
            state_q <= SLength;
          end
        end
        SLength: begin
          len_q <= s_axis_tdata;
          idx_q <= '0;
          if (s_axis_tdata == '0) begin
            // An empty payload must end here; one that goes on reports ErrLong once, at its
            // tlast, like any other packet that is too long.
            pkt_done_o <= s_axis_tlast;
            pkt_ok_o   <= s_axis_tlast;
            pkt_err_o  <= '0;
            state_q    <= s_axis_tlast ? SHeader : SDrain;
            err_q      <= ErrLong;
          end else if (s_axis_tlast) begin
            pkt_done_o <= 1'b1;
            pkt_err_o  <= ErrShort;
            state_q    <= SHeader;
          end else begin
            state_q <= SPayload;
          end
        end
        SPayload: begin
          idx_q <= idx_q + 32'd1;
          if (idx_q == len_q - 32'd1) begin
            if (s_axis_tlast) begin
              pkt_done_o <= 1'b1;
              pkt_ok_o   <= 1'b1;
              pkt_err_o  <= '0;
              state_q    <= SHeader;
            end else begin
              err_q   <= ErrLong;
              state_q <= SDrain;
            end
          end else if (s_axis_tlast) begin
            pkt_done_o <= 1'b1;
            pkt_err_o  <= ErrShort;
            state_q    <= SHeader;
          end
        end
        SDrain: begin
          if (s_axis_tlast) begin
            pkt_done_o <= 1'b1;
            pkt_err_o  <= err_q;
            state_q    <= SHeader;
          end
        end
        default: state_q <= SHeader;
      endcase
    end
  end

  // Payload words go out combinationally with the beat; stores write them in the same cycle.
  assign pl_valid_o  = beat & (state_q == SPayload);
  assign pl_kind_o   = kind_q;
  assign pl_target_o = target_q;
  assign pl_len_o    = len_q;
  assign pl_index_o  = idx_q;
  assign pl_data_o   = s_axis_tdata;

endmodule : neural_pkt_rx

`default_nettype wire
